"""Every sentence the client puts in front of an operator, in one place for translation.

The client sits below the CLI and cannot use its `_()`; a front end that translates maps
these templates (they are `str.format` patterns with named fields) through its catalogue.
"""

from __future__ import annotations

NOT_HTTP_URL = "{url!r} is not an http:// or https:// URL"
UNUSABLE_URL = "{url!r} is not a usable URL: {error}"
UNREACHABLE = (
    "cannot reach Ironworks at {url} ({reason}); is `ironworks serve` running there, "
    "and is the URL right?"
)
NO_ANSWER_IN_TIME = (
    "{url} did not answer {method} {path} in time; is the server overloaded or the address wrong?"
)
BAD_REQUEST_PATH = "cannot build a request for {path!r}: {error}"
NOT_JSON = "{method} {url} answered {status} with a body that is not JSON"

NODE_IN_STATE = 'the node is in "{state}"'
NODE_NOT_IN_GOAL = 'the node is in "{state}", not "{goal}"'
POWER_NOT_REACHED = 'power state is "{state}"'
