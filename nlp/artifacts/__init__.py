"""Where models and data live: project paths, the model registry and the base transformers."""
