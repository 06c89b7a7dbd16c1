"""Product insights and the brand manager's sentiment report over analysed reviews, and its HTML page."""
