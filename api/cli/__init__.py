"""The ``reviewpulse`` command line (``main.app``: scoring, analysing a text, serving, the registry), one module
per command group: ``train`` (reproduce model artifacts), ``evaluate`` (measure models), ``store`` (database,
keys, bulk loads), ``recommend`` (suggestions and their evaluation); ``console`` holds what they share.

The console script imports this package before any command runs, and the commands import transformers only
when they run, so huggingface_hub's offline mode is set here, in time for every command (and for the Ray
actors and the server workers they start, which inherit it)."""

from nlp.artifacts.base_models import stay_offline

stay_offline()
