"""A segment opened over https whose server redirects to plain http on the same host: no
login (~/.netrc's, or one written in the URL) is sent over plain http, where anyone on the
way could read it; and a plain-http server that then asks for a login says why none came.
The opens run in a child process, which trusts the test's own certificate (SSL_CERT_FILE)."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import os
import ssl
import subprocess
import sys
import threading

import pytest

from tests._http import LOGIN, NAME, MisbehavingHandler, serve, write_served_segment

pytest.importorskip("aiohttp")
pytest.importorskip("cryptography")

NETRC_LOGIN = ("netrcuser", "Pw-n3trc-7c1")
URL_LOGIN = ("urluser", "Pw-ur1-4d2")
OPEN = """
import sys
from inkloop.io import SegmentError, open_segment
for url in sys.argv[1:]:
    try:
        open_segment(url, cache=False, timeout=10)
        print("opened")
    except SegmentError as error:
        print(error)
"""


class _Recorded(MisbehavingHandler):
    """`MisbehavingHandler` that notes the Authorization each request carried."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        self.server.logins.append(self.headers["Authorization"])
        super().do_GET()


class _ToPlainHttp(http.server.BaseHTTPRequestHandler):
    """Redirects every path to the same path over plain http (``server.to``), noting the
    Authorization each request carried."""

    def do_GET(self):
        self.server.logins.append(self.headers["Authorization"])
        self.send_response(302)
        self.send_header("Location", f"{self.server.to}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _certificate(folder):
    """A self-signed certificate for 127.0.0.1 and its key, as files in ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    address = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(address, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (folder / "key.pem").write_bytes(private)
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def https_to_http(tmp_path, synthetic):
    """(an https base URL redirecting to a plain-http server of the segment, the https
    server, the http server, the certificate)."""
    root = tmp_path / "served"
    root.mkdir()
    write_served_segment(root, NAME, synthetic)
    certificate, key = _certificate(tmp_path)
    with serve(root, _Recorded) as (base, plain):
        plain.logins = []
        secure = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ToPlainHttp)
        secure.logins, secure.to = [], base
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        secure.socket = context.wrap_socket(secure.socket, server_side=True)
        thread = threading.Thread(target=secure.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"https://127.0.0.1:{secure.server_port}", secure, plain, certificate
        finally:
            secure.shutdown()
            secure.server_close()


def _opened(urls, certificate, netrc, home) -> list[str]:
    """What opening each of ``urls`` in a child process said ("opened", or the error)."""
    env = {**os.environ, "SSL_CERT_FILE": str(certificate), "NETRC": str(netrc)}
    env["INKLOOP_DATA"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", OPEN, *urls], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _netrc(folder, login):
    netrc = folder / "netrc"
    netrc.write_text("machine 127.0.0.1 login {} password {}\n".format(*login))
    netrc.chmod(0o600)
    return netrc


def test_no_login_follows_a_redirect_from_https_to_plain_http(https_to_http, tmp_path):
    base, secure, plain, certificate = https_to_http
    with_login = base.replace("://", "://{}:{}@".format(*URL_LOGIN))
    urls = [f"{base}/{NAME}.zarr", f"{with_login}/{NAME}.zarr"]

    said = _opened(urls, certificate, _netrc(tmp_path, NETRC_LOGIN), tmp_path / "home")

    assert said == ["opened", "opened"]
    assert [login for login in plain.logins if login] == []
    assert len(set(secure.logins) - {None}) == 2  # both logins went where https was asked


def test_a_login_asked_for_over_plain_http_after_https_says_none_is_sent_there(
    https_to_http, tmp_path
):
    """The login in ~/.netrc is the one the plain-http server asks for: it is kept back."""
    base, _secure, plain, certificate = https_to_http
    url = f"{base}/private/{NAME}.zarr"

    said = _opened([url], certificate, _netrc(tmp_path, LOGIN), tmp_path / "home")

    assert said == [
        f"{url}: redirected from https to plain http ({plain.server_address[0]}:"
        f"{plain.server_port}), which asks for a login (401 Unauthorized): none is sent over "
        "plain http, where others on the way could read it; open the segment from a URL the "
        "server keeps on https"
    ]
    assert not any(plain.logins)
