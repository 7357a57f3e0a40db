"""Keys a layer leaves in a request's ASGI scope for another to read (the load shedding and
the authentication write them; the metrics and the access log read them)."""

SHED = "sugang.shed"  # the load shedding refused the request
USER_ID = "sugang.user_id"  # the user the bearer token named
