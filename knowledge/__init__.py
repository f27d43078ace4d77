"""The knowledge base: articles agents read during a call, their documents, and the
basket of documents an agent picks for a caller (DITP 1169, step 3)."""
