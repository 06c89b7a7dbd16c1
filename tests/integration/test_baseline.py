import numpy as np

from nlp.training.baseline import tfidf_logreg
from tests.conftest import needs_datasets


@needs_datasets
def test_the_baseline_stores_float32_weights_without_changing_its_probabilities():
    from nlp.training.datasets import clothing_reviews

    rows = clothing_reviews().head(600)
    texts, labels = rows["text"].tolist(), rows["label"].tolist()
    model = tfidf_logreg(texts[:500], labels[:500])
    regression = model[-1]
    assert regression.coef_.dtype == np.float32
    reduced = model.predict_proba(texts[500:])
    regression.coef_ = regression.coef_.astype(np.float64)
    np.testing.assert_allclose(reduced, model.predict_proba(texts[500:]), atol=1e-6)
