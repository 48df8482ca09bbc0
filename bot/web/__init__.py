"""The one web app of `doorstep serve`: Telegram webhook, WeChat endpoint, web chat, health."""
