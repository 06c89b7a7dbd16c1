"""Reading and writing tables (CSV, JSONL, Parquet, stdin): one reader and one writer for every job."""
