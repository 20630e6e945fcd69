"""Content-Security-Policy on every response, in development too, so the tests (the browser tests
included) run the pages under the policy production sends.

Everything the pages load is this site's own: no inline script or style anywhere (htmx's
indicator <style> is turned off by the htmx-config meta tag in base.html, and htmx may not eval),
so no nonce is needed. The admin's scripts are files too (Django 5.2).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", POLICY)
        return response
