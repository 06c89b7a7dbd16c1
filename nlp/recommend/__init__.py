"""Product suggestions with reasons, and their offline evaluation (hit rate@k, NDCG@k)."""
