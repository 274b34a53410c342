"""Khabar's answering side: retrieval, the answer chain, citations and the channels."""
