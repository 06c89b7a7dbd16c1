"""The ``reviewpulse`` command line (``main.app``): scoring, training and evaluation, serving, and the
store's commands (``store``: database, keys, bulk loads; ``recommend``: suggestions and their evaluation)."""
