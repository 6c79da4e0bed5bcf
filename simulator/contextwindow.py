"""The provider's context-window check.

OpenAI refuses a request whose prompt plus requested completion
(``max_tokens`` / ``max_completion_tokens``) exceeds the model's context
window with a 400 ``context_length_exceeded``; without a completion limit
only the prompt counts.  The simulated providers all check this way.
"""

from __future__ import annotations

import json


def exceeds(window: int, prompt: int, completion: int | None) -> bool:
    return prompt + (completion or 0) > window


def error_body(window: int, prompt: int, completion: int | None) -> str:
    """The provider's error body for a request :func:`exceeds` refuses."""
    if completion:
        message = (
            f"This model's maximum context length is {window} tokens. However, "
            f"you requested {prompt + completion} tokens ({prompt} in the "
            f"messages, {completion} in the completion). Please reduce the "
            "length of the messages or completion."
        )
    else:
        message = (
            f"This model's maximum context length is {window} tokens. However, "
            f"your messages resulted in {prompt} tokens. Please reduce the "
            "length of the messages."
        )
    return json.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        separators=(",", ":"),
    )
