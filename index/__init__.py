"""Khabar's index: turns news articles into searchable, citable paragraphs."""
