"""``python -m services.webhook``: serve the webhook bridge until SIGTERM or SIGINT (exit 0)."""

from services.webhook.app import main

if __name__ == "__main__":
    main()
