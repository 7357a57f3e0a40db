"""What every router shares: dependencies, errors as answers, idempotency, rate limits."""
