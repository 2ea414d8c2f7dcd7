"""Error pages: JSON for the gate API, a plain Chinese page for people."""
from flask import jsonify, render_template, request

MESSAGES = {400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found",
            405: "method not allowed", 413: "request too large", 500: "internal error"}


def init_app(app) -> None:
    def handler(err):
        code = getattr(err, "code", 500) or 500
        if request.path.startswith("/api/"):
            message = getattr(err, "description", None) or MESSAGES.get(code, "error")
            return jsonify(error=MESSAGES.get(code, "error").replace(" ", "_"),
                           message=message), code
        return render_template("error.html", code=code), code

    for code in MESSAGES:
        app.register_error_handler(code, handler)
