"""The web addresses a deployment is configured with: the server's public address (the
console link in mails, the mails' default sender) and the policy page's address (every
answer's link). Checked once, when Settings are made."""

from __future__ import annotations

from urllib.parse import urlsplit

from index.errors import ConfigError


def check_public_url(url: str) -> str:
    """"" or an absolute http(s) URL without query, fragment or credentials, with no
    trailing slash (the console link in the mail is built on it)."""
    url = str(url or "").strip().rstrip("/")
    if not url:
        return ""
    if not (web_address(url) and not urlsplit(url).query):
        raise ConfigError("public_url must be the server's address like "
                          "https://help.example.com (http or https, no query or fragment). "
                          f"Currently, public_url is {url[:80]!r}")
    return url


def web_address(url: str) -> bool:
    """An absolute http(s) URL with a host, no fragment, no credentials and nothing
    unprintable (public_url also refuses a query)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1": an unbalanced IPv6 bracket
        return False
    return (parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment
            and "@" not in parts.netloc
            and not any(c.isspace() or not c.isprintable() for c in url))


def check_base_url(url: str) -> str:
    """"" or the absolute http(s) address of the policy's page: every answer's link is
    this plus "#section", so a relative or script URL would send visitors nowhere."""
    url = str(url or "").strip()
    if not url:
        return ""
    if not web_address(url):
        raise ConfigError("base_url must be the policy page's address like "
                          "https://example.com/privacy (http or https, no #fragment). "
                          f"Currently, base_url is {url[:80]!r}")
    return url


def default_sender(public_url: str) -> str:
    """The mails' sender when POLICY_QA_MAIL_FROM is unset: policy-qa@ the host people
    reach the server at (POLICY_QA_PUBLIC_URL), so replies and bounces stay on the
    deployment's own domain; policy-qa@localhost only when that is unknown too."""
    host = (urlsplit(public_url).hostname or "") if public_url else ""
    named = "." in host and not host.replace(".", "").isdigit() and ":" not in host
    return f"policy-qa@{host}" if named else "policy-qa@localhost"
