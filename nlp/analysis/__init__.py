"""The analysis core: text preparation, language and PII, document / sentence / aspect-based sentiment,
aspect categories, Word2Vec embeddings, topics, and the ``Analyzer`` that puts them together."""
