"""The answering core: retrieval, the answer chain (LLM or extractive), citations and the Answer records channels render."""
