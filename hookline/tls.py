"""TLS contexts that present a webhook's client certificate (mTLS)."""

from __future__ import annotations

import os
import ssl
import tempfile


def client_context(certificate: str, key: str) -> ssl.SSLContext:
    """A verifying TLS context that presents ``certificate`` (PEM) with its ``key``.

    ``ssl`` loads a certificate only from files: they are written to a directory only this
    process's user may read and removed as soon as they are loaded."""
    context = ssl.create_default_context()
    with tempfile.TemporaryDirectory(prefix="hookline-mtls-") as folder:
        cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        for path, text in ((cert_path, certificate), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
        context.load_cert_chain(cert_path, key_path)
    return context
