"""Model cards from the Jinja2 Markdown templates in ``nlp/templates/`` (``*_card.md.j2``).

One environment for every card: no autoescape (the output is Markdown, not HTML), the template's trailing
newline kept, and an undefined name raises instead of printing nothing, so a card never silently loses a
figure its metrics lack.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("nlp"), keep_trailing_newline=True, undefined=StrictUndefined)


def render_card(template: str, **context: Any) -> str:
    """The Markdown of ``template`` (a file name in ``nlp/templates/``) filled with ``context``.

    Raises:
        jinja2.TemplateNotFound: no such template.
        jinja2.UndefinedError: the template uses a name or key ``context`` lacks.
    """
    return _environment().get_template(template).render(**context)
