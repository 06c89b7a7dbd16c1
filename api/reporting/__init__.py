"""The brand manager's report rendered for people: one self-contained HTML page (Jinja2 template, Vega-Lite
charts) and CSV for spreadsheets, from the typed report of :func:`nlp.insights.report.sentiment_report`."""
