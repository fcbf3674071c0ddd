"""Real network servers for the tests, on loopback: an authoritative DNS server (dnspython)
and SMTP submission servers (aiosmtpd with STARTTLS and AUTH, a stalling one)."""

from __future__ import annotations

import datetime
import socket
import socketserver
import ssl
import struct
import threading
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

# -- DNS ------------------------------------------------------------------------------------

Zone = dict[str, list[tuple[str, str]]]  # owner name -> [(type, rdata text)]


class DnsServer:
    """Answers from a dict of records over UDP and TCP; NXDOMAIN for names it does not hold."""

    def __init__(self, records: Zone) -> None:
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                sock.sendto(server.answer(data), self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = self.request.recv(2)
                if len(head) < 2:
                    return
                (n,) = struct.unpack("!H", head)
                data = b""
                while len(data) < n:
                    chunk = self.request.recv(n - len(data))
                    if not chunk:
                        return
                    data += chunk
                out = server.answer(data)
                self.request.sendall(struct.pack("!H", len(out)) + out)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        for attempt in range(20):
            # the UDP port the system picks may be taken for TCP: pick again
            self.udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
            port = self.udp.server_address[1]
            try:
                self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
                break
            except OSError:
                self.udp.server_close()
                if attempt == 19:
                    raise
        self.port = port
        self.address = f"127.0.0.1:{port}"
        for srv in (self.udp, self.tcp):
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def answer(self, wire: bytes) -> bytes:
        q = dns.message.from_wire(wire)
        resp = dns.message.make_response(q)
        resp.flags |= dns.flags.AA
        question = q.question[0]
        name = question.name.to_text().lower().rstrip(".")
        qtype = dns.rdatatype.to_text(question.rdtype)
        for _hop in range(8):  # follow CNAMEs inside our own data
            rows = self.records.get(name)
            if rows is None:
                if not resp.answer:
                    resp.set_rcode(dns.rcode.NXDOMAIN)
                break
            cname = [r for t, r in rows if t == "CNAME"]
            if cname and qtype != "CNAME":
                resp.answer.append(self._rrset(name, "CNAME", cname))
                name = cname[0].lower().rstrip(".")
                continue
            wanted = [r for t, r in rows if t == qtype]
            if wanted:
                resp.answer.append(self._rrset(name, qtype, wanted))
            break
        return resp.to_wire()

    @staticmethod
    def _rrset(name: str, rtype: str, texts: list[str]) -> dns.rrset.RRset:
        rs = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rtype))
        for t in texts:
            rs.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), t), ttl=60)
        return rs

    def close(self) -> None:
        for srv in (self.udp, self.tcp):
            srv.shutdown()
            srv.server_close()


def txt(value: str) -> str:
    """A TXT rdata in zone-file form, split into 255-byte strings."""
    parts = [value[i:i + 250] for i in range(0, len(value), 250)] or [""]
    return " ".join('"' + p.replace('"', '\\"') + '"' for p in parts)


# -- TLS --------------------------------------------------------------------------------------

def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for localhost and 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


# -- SMTP -------------------------------------------------------------------------------------

class SmtpServer:
    """aiosmtpd submission server: STARTTLS, AUTH PLAIN/LOGIN, one accepted credential.

    Other credentials get SES's reply, ``535 Authentication Credentials Invalid``.
    ``starttls=False`` makes it offer no STARTTLS at all.
    """

    def __init__(self, cert: Path, key: Path, user: str, password: str, starttls: bool = True,
                 implicit: bool = False) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False,
                              message=None if ok else "535 Authentication Credentials Invalid")

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.endswith("@unknown.test"):
                    return "550 5.1.1 Recipient address rejected: User unknown"
                envelope.rcpt_tos.append(address)
                return "250 OK"

        ctx = None
        if starttls or implicit:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
        starttls = starttls and not implicit
        with socket.socket() as probe:  # aiosmtpd needs a concrete port
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, ready_timeout=10,
                                     server_hostname="localhost", tls_context=ctx if starttls else None,
                                     ssl_context=ctx if implicit else None, require_starttls=starttls,
                                     authenticator=authenticator, auth_require_tls=starttls)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


class StallingServer:
    """Accepts connections and never says a word: the check must time out, not hang."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for c in self.held:
            c.close()


class BannerServer:
    """A plain port-25 stand-in: sends a greeting and closes on QUIT."""

    def __init__(self, banner: bytes = b"220 mx.recipient.test ESMTP\r\n") -> None:
        banner_bytes = banner

        class H(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.sendall(banner_bytes)
                try:
                    self.request.recv(64)
                except OSError:
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()
