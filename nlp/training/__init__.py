"""Training and evaluation recipes that reproduce the committed models, their data sets, metrics and
model cards."""
