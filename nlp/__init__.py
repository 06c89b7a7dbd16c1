"""ReviewPulse analysis core: ``Analyzer`` turns review texts into document, sentence and aspect sentiment,
topics and entities. Heavy dependencies load on first use of :class:`Analyzer`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nlp.analysis.analyzer import AnalysisError, Analyzer, ReviewAnalysis

__all__ = ["AnalysisError", "Analyzer", "ReviewAnalysis"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from nlp.analysis import analyzer

        return getattr(analyzer, name)
    raise AttributeError(name)
