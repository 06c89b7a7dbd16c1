"""Customer questions: the intent classifier with out-of-scope detection and entities, and the answers."""
