"""The assistant's custom actions (rasa-sdk). Serve them with ``python -m rasa_sdk --actions chatbot.actions``.

- :mod:`chatbot.actions.support`: ``action_answer_question``, ``action_default_fallback``,
  ``action_human_handoff``
- :mod:`chatbot.actions.products`: ``action_product_opinions``, ``action_suggest_products`` and the
  product forms' validation
- :mod:`chatbot.actions.feedback`: ``validate_feedback_form``, ``action_submit_feedback``

They reach the ReviewPulse API only through :mod:`chatbot.actions.api_client` (``REVIEWPULSE_API_URL``,
``REVIEWPULSE_API_KEY``).
"""
