"""E-mail to callers: the outbox table every mail goes through, the SMTP sender and the
dispatcher that moves one to the other, and the Thai and English templates."""
