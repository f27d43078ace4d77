"""The Asterisk Manager Interface: wire format, capture files and the link to one PBX."""
