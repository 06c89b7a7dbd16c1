"""``GET /v1/topics``: the topic table, as BERTopic's ``get_topic_info()`` gives it, with stored sentiment."""

from __future__ import annotations

from anyio import from_thread
from fastapi import APIRouter, Request

from api import store
from api.service.deps import Reader, SessionDep
from api.service.errors import JSONRoute
from api.service.schemas import TopicInfo

router = APIRouter(prefix="/v1", tags=["topics"], route_class=JSONRoute)


@router.get("/topics", response_model=list[TopicInfo])
def topics(request: Request, session: SessionDep, caller: Reader) -> list[TopicInfo]:
    """Every topic: id, label, corpus size, top terms, and over the stored reviews the number mentioning it,
    its sentiment distribution (shares) and up to three representative reviews."""
    stats = store.topic_stats(session)
    # this sync route runs in a worker thread; the analyzer (under the current topics version) is the loop's
    model = from_thread.run(request.app.state.analysis.analyzer).topic_model
    out = []
    for info in model.info():
        stat = stats.get(info["id"], {})
        counts = stat.get("sentiment", {})
        total = sum(counts.values())
        out.append(
            TopicInfo(
                **info,
                stored_reviews=total,
                sentiment_distribution={
                    k: round(counts.get(k, 0) / total, 4) if total else 0.0
                    for k in ("negative", "neutral", "positive")
                },
                representative_reviews=stat.get("representative", []),
            )
        )
    return out
