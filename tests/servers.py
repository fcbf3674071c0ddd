"""Real network servers for the tests, on loopback: an authoritative DNS server (dnspython),
SMTP servers (aiosmtpd with STARTTLS and AUTH, a stalling one, a banner-only one), and private
instances of Postfix, Exim, Sendmail, the DragonFly Mail Agent, Dovecot's delivery agent and
OpenSMTPD."""

from __future__ import annotations

import datetime
import grp
import json
import os
import pwd
import shutil
import smtplib
import socket
import socketserver
import ssl
import struct
import subprocess
import tempfile
import threading
import time
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
    """Answers from a dict of records over UDP and TCP; NXDOMAIN for names it does not hold.

    A name whose records include ("RCODE", "SERVFAIL") gets that response code to every query,
    as a broken name server gives."""

    def __init__(self, records: Zone, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve ``records`` on ``host``: on ``port``, or on a free one when it is 0 (a stub
        resolver, which cannot be told a port, needs 53)."""
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
            self.udp = socketserver.ThreadingUDPServer((host, port), Udp)
            chosen = self.udp.server_address[1]
            try:
                self.tcp = socketserver.ThreadingTCPServer((host, chosen), Tcp)
                break
            except OSError:
                self.udp.server_close()
                if port or attempt == 19:
                    raise
        self.host = host
        self.port = chosen
        self.address = f"{host}:{chosen}"
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
            rcode = [r for t, r in rows if t == "RCODE"]
            if rcode:
                resp.set_rcode(dns.rcode.from_text(rcode[0]))
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
            # a name in the data is absolute, with or without its final dot ("10 mx.example.test")
            rs.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), t, origin=dns.name.root,
                                       relativize=False),
                   ttl=60)
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

def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (aiosmtpd and the MTAs need a concrete one)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def answers_smtp(port: int) -> bool:
    """Whether an SMTP server on loopback ``port`` greets and answers NOOP."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as s:
            s.noop()
        return True
    except OSError:
        return False


def smtp_send(port: int, sender: str, recipients: list[str], message: bytes,
              rcpt_options: tuple[str, ...] = ()) -> None:
    """Submit one message over SMTP to loopback ``port`` (EHLO first, so RCPT options go through)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo()
        s.sendmail(sender, recipients, message, rcpt_options=list(rcpt_options))


def installed_or_unpacked(*candidates: Path) -> Path | None:
    """The first of ``candidates`` that is an executable file."""
    for cand in candidates:
        if cand.exists() and os.access(cand, os.X_OK):
            return cand
    return None


def log_text(path: Path) -> str:
    """A server's log, for a failed test's message: empty until the server has written one."""
    return path.read_text(errors="replace") if path.exists() else ""


def package_root(unpacked: Path, *files: Path) -> Path | None:
    """The directory a package's ``files`` (relative paths) are all under: / when it is
    installed, else ``unpacked``, where .ci/run unpacks it; None when neither has them."""
    for root in (Path("/"), unpacked):
        if all((root / f).exists() for f in files):
            return root
    return None


# -- a private /etc -------------------------------------------------------------------------

# Some programs read only a compiled-in file under /etc: dma its dma/dma.conf, and every stub
# resolver resolv.conf.  A command run through `in_private_etc` sees a directory's files laid
# over /etc, in a mount namespace of its own, and so do the processes it starts (a daemon's
# children); the system's /etc is never touched.
_ETC_OVERLAY = 'mount -t overlay overlay -o "lowerdir=$0:/etc" /etc && exec "$@"'


def in_private_etc(etc: Path | None, command: list[str]) -> list[str]:
    """``command``, to be run with ``etc``'s files laid over /etc; as it is when ``etc`` is None."""
    if etc is None:
        return command
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", _ETC_OVERLAY, str(etc), *command]


def private_etc_missing() -> str | None:
    """Why a private /etc cannot be laid over the system's here, or None when it can."""
    if os.geteuid() != 0:
        return "a private /etc is an overlay mount in a mount namespace of its own, which needs root"
    with tempfile.TemporaryDirectory(prefix="bc-etc-probe-") as probe_dir:
        (Path(probe_dir) / "bc-probe").write_text("")
        probe = subprocess.run(in_private_etc(Path(probe_dir), ["test", "-e", "/etc/bc-probe"]),
                               capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return ("an overlay mount on /etc in a private mount namespace fails here: "
                f"{probe.stderr.strip()[:300] or probe.returncode}")
    return None


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
        self.port = free_port()
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

    def __init__(self, banner: bytes = b"220 mx.recipient.test ESMTP\r\n", host: str = "127.0.0.1") -> None:
        banner_bytes = banner

        class H(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.sendall(banner_bytes)
                try:
                    self.request.recv(64)
                except OSError:
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.srv = socketserver.ThreadingTCPServer((host, 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


# -- Postfix ----------------------------------------------------------------------------------

_POSTFIX_SERVICES = """\
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

_POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
mail_owner = postfix
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
smtp_dns_support_level = disabled
"""


def postfix_missing() -> str | None:
    """Why a private Postfix instance cannot run here, or None when it can."""
    if shutil.which("postfix") is None and not Path("/usr/sbin/postfix").exists():
        return "Postfix is not installed (Debian package postfix); .ci/run installs it"
    if os.geteuid() != 0:
        return "the Postfix integration tests need root: Postfix's master process runs as root"
    return None


def wait_for(predicate, timeout: float = 60.0, what: str = "Postfix"):
    """Poll ``predicate`` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Postfix:
    """A private Postfix instance: its own main.cf, master.cf, queue and log in a temporary
    directory, with an SMTP listener on a free loopback port.

    ``main`` is appended to a common main.cf (a later setting wins in Postfix), and ``services``
    to a master.cf that holds the queue manager's own services and the listener.  With ``etc``,
    a directory laid over /etc for the whole instance (see `in_private_etc`), the SMTP client
    looks up MX records in DNS, through the resolver its resolv.conf names; without, it does not.
    """

    def __init__(self, main: str, services: str = "", etc: Path | None = None) -> None:
        self.etc = etc
        self.base = Path(tempfile.mkdtemp(prefix="bc-postfix-"))
        self.base.chmod(0o755)
        self.conf = self.base / "conf"
        self.conf.mkdir()
        for sub in ("queue", "data"):
            (self.base / sub).mkdir()
        owner = pwd.getpwnam("postfix")
        os.chown(self.base / "data", owner.pw_uid, owner.pw_gid)
        self.port = free_port()
        dns = "smtp_dns_support_level = enabled\n" if etc else ""
        (self.conf / "main.cf").write_text(_POSTFIX_MAIN.format(base=self.base) + dns + main)
        (self.conf / "master.cf").write_text(f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
                                             + _POSTFIX_SERVICES + services)
        try:
            p = self.postfix("post-install", "create-missing")  # the queue's sub-directories and owners
            assert p.returncode == 0, p.stdout + p.stderr
            p = self.postfix("start")
            assert p.returncode == 0, p.stdout + p.stderr + self.maillog()
            wait_for(lambda: answers_smtp(self.port), 20, "Postfix to listen")
        except BaseException:
            self.close()
            raise

    def postfix(self, *args: str):
        return subprocess.run(in_private_etc(self.etc, ["postfix", "-c", str(self.conf), *args]),
                              capture_output=True, text=True, timeout=60)

    def send(self, sender: str, recipients: list[str], message: bytes, rcpt_options: tuple[str, ...] = ()) -> None:
        smtp_send(self.port, sender, recipients, message, rcpt_options)

    def queue(self) -> list[dict]:
        p = subprocess.run(["postqueue", "-c", str(self.conf), "-j"], capture_output=True, text=True, timeout=30)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def maillog(self) -> str:
        return log_text(self.base / "maillog")

    def close(self) -> None:
        self.postfix("stop")
        time.sleep(0.5)
        self.postfix("abort")
        shutil.rmtree(self.base, ignore_errors=True)


# -- Exim -------------------------------------------------------------------------------------

# Debian's exim4-daemon-light conflicts with Postfix (each is the system's MTA), so .ci/run unpacks
# it here instead of installing it; an installed Exim is used first.
EXIM_UNPACKED = Path("/opt/bounce-classify-ci/exim/usr/sbin/exim4")
EXIM_USER = "Debian-exim"  # the user Debian's build runs as: its name is compiled in


def exim_binary() -> Path | None:
    return installed_or_unpacked(Path("/usr/sbin/exim4"), EXIM_UNPACKED)


def exim_missing() -> str | None:
    """Why a private Exim instance cannot run here, or None when it can."""
    if exim_binary() is None:
        return f"Exim is not installed (Debian package exim4-daemon-light; .ci/run unpacks it to {EXIM_UNPACKED})"
    if os.geteuid() != 0:
        return "the Exim integration tests need root: a private configuration (-C) keeps root's privilege only"
    try:
        pwd.getpwnam(EXIM_USER)
    except KeyError:
        return f"the user {EXIM_USER} that Exim was built to run as does not exist; .ci/run creates it"
    probe = subprocess.run([str(exim_binary()), "-bV"], capture_output=True, text=True, timeout=30)
    if "Exim version" not in probe.stdout:
        return f"Exim does not start: {(probe.stderr or probe.stdout).strip()[:300]}"
    return None


class Exim:
    """A private Exim: its own configuration, spool and logs in a temporary directory.

    Messages are submitted on the command line and delivered at once; ``hostname`` is its own
    name, ``routes`` maps a domain to ``host::port`` for a manualroute router, ``local`` is the
    domain of local users, and
    ``retry``, ``main`` and ``transport`` are appended to the retry section, the main options and
    the remote SMTP transport's options.  Nothing
    listens: queue runs are started with ``run_queue``.  Other remote domains are routed by
    their MX records, through the resolver named by the resolv.conf of ``etc``, a directory laid
    over /etc for every run (see `in_private_etc`).
    """

    def __init__(self, hostname: str, routes: dict[str, str], local: str, main: str = "",
                 retry: str = "* * F,1s,1s\n", etc: Path | None = None, transport: str = "") -> None:
        self.etc = etc
        binary = exim_binary()
        assert binary is not None
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="bc-exim-"))
        self.base.chmod(0o755)
        owner = pwd.getpwnam(EXIM_USER)
        os.chown(self.base, owner.pw_uid, owner.pw_gid)  # Exim writes its logs and spool as that user
        route_list = " ; ".join(f"{domain} {target} byname" for domain, target in routes.items())
        self.conf = self.base / "exim.conf"
        self.conf.write_text(f"""\
exim_path = {binary}
keep_environment =
primary_hostname = {hostname}
qualify_domain = {hostname.split('.', 1)[-1]}
spool_directory = {self.base}/spool
log_file_path = {self.base}/%slog
exim_user = {EXIM_USER}
exim_group = {EXIM_USER}
never_users = root
domainlist local_domains = {local}
trusted_users = root
host_lookup =
{main}
begin routers
remote:
  driver = manualroute
  domains = ! +local_domains
  transport = remote_smtp
  route_list = {route_list}
  self = send
dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  no_more
localuser:
  driver = accept
  check_local_user
  transport = local_delivery

begin transports
remote_smtp:
  driver = smtp
  allow_localhost
{transport}local_delivery:
  driver = appendfile
  file = /dev/null

begin retry
{retry}""")

    def exim(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        return subprocess.run(in_private_etc(self.etc, [str(self.binary), "-C", str(self.conf), *args]),
                              input=stdin, capture_output=True, timeout=60)

    def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        p = self.exim("-odi", "-f", sender, "--", *recipients, stdin=message)
        assert p.returncode == 0, p.stderr.decode(errors="replace") + self.mainlog()

    def run_queue(self) -> None:
        self.exim("-qff")

    def mainlog(self) -> str:
        return log_text(self.base / "mainlog")

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


# -- Sendmail ---------------------------------------------------------------------------------

# Debian's sendmail-bin conflicts with Postfix too; .ci/run unpacks it and sendmail-cf (the m4
# macros a configuration is built from) here.  An installed Sendmail is used first.
SENDMAIL_UNPACKED = Path("/opt/bounce-classify-ci/sendmail")
_SENDMAIL_BIN = Path("usr/libexec/sendmail")
_SENDMAIL_CF = Path("usr/share/sendmail/cf")


def sendmail_root() -> Path | None:
    return package_root(SENDMAIL_UNPACKED, _SENDMAIL_BIN / "sendmail", _SENDMAIL_CF / "m4" / "cf.m4")


def sendmail_missing() -> str | None:
    """Why a private Sendmail cannot run here, or None when it can."""
    if sendmail_root() is None:
        return ("Sendmail is not installed (Debian packages sendmail-bin and sendmail-cf; .ci/run unpacks them "
                f"to {SENDMAIL_UNPACKED})")
    if shutil.which("m4") is None:
        return "m4, which builds Sendmail's configuration, is not installed (Debian package m4)"
    if os.geteuid() != 0:
        return "the Sendmail integration tests need root: a private configuration (-C) runs as root"
    probe = subprocess.run(["unshare", "--uts", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare --uts, which gives Sendmail a qualified host name, fails here: {probe.stderr.strip()[:300]}"
    return None


class Sendmail:
    """A private Sendmail: a configuration built with m4 from sendmail-cf, and its own queue,
    in a temporary directory.

    ``hostname`` is its own name, ``routes`` maps a domain to ``host:port`` (a mailertable entry
    and a mailer for each port), ``local`` is the domain of local users, and ``main`` is m4
    appended to the configuration.  Messages are submitted on the command line and delivered at
    once (``-odi``); a delayed one is retried by ``run_queue``.  Each run is in its own UTS
    namespace with ``hostname`` as the host name: Sendmail waits a minute for a host name with
    no domain to resolve before it reads its configuration.  With ``etc``, a directory laid over
    /etc for every run (see `in_private_etc`), host names and MX records are looked up in DNS
    too, through the resolver its resolv.conf names.
    """

    def __init__(self, hostname: str, routes: dict[str, str], local: str, main: str = "",
                 etc: Path | None = None) -> None:
        self.etc = etc
        root = sendmail_root()
        assert root is not None
        self.hostname = hostname
        self.binary = root / _SENDMAIL_BIN / "sendmail"
        self.base = Path(tempfile.mkdtemp(prefix="bc-sendmail-"))
        (self.base / "mqueue").mkdir(mode=0o700)
        (self.base / "aliases").write_text("postmaster: root\n")
        (self.base / "service.switch").write_text(f"hosts files{' dns' if etc else ''}\naliases files\n")
        targets = sorted(set(routes.values()))
        mailers = "".join(
            f"Mt{i},\tP=[IPC], F=mDFMuXak, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990, "
            f"T=DNS/RFC822/SMTP, A=TCP $h {target.rpartition(':')[2]}\n" for i, target in enumerate(targets))
        table = "".join(f"{domain}\tt{targets.index(target)}:[{target.rpartition(':')[0]}]\n"
                        for domain, target in routes.items())
        b = self.base
        mc = f"""\
divert(0)dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `{hostname}')dnl
define(`QUEUE_DIR', `{b}/mqueue')dnl
define(`confPID_FILE', `{b}/sendmail.pid')dnl
define(`STATUS_FILE', `{b}/statistics')dnl
define(`ALIAS_FILE', `{b}/aliases')dnl
define(`confHELP_FILE', `/dev/null')dnl
define(`confSERVICE_SWITCH_FILE', `{b}/service.switch')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confDOUBLE_BOUNCE_ADDRESS', `')dnl
define(`confDONT_BLAME_SENDMAIL', `MapInUnsafeDirPath')dnl
define(`LOCAL_MAILER_PATH', `{root / _SENDMAIL_BIN / "mail.local"}')dnl
FEATURE(`nocanonify')dnl
FEATURE(`mailertable', `hash -o {b}/mailertable')dnl
LOCAL_DOMAIN(`{local}')dnl
{main}MAILER(`local')dnl
MAILER(`smtp')dnl
MAILER_DEFINITIONS
{mailers}"""
        (b / "sendmail.mc").write_text(mc)
        cf_dir = root / _SENDMAIL_CF
        with open(b / "sendmail.cf", "wb") as out:
            p = subprocess.run(["m4", f"-D_CF_DIR_={cf_dir}/", str(cf_dir / "m4" / "cf.m4"), str(b / "sendmail.mc")],
                               stdout=out, stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        self.conf = b / "sendmail.cf"
        p = subprocess.run([str(root / _SENDMAIL_BIN / "makemap"), "-C", str(self.conf), "hash", str(b / "mailertable")],
                           input=table.encode(), capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        p = self.sendmail("-bi")  # the alias database
        assert p.returncode == 0, p.stderr.decode(errors="replace")

    def sendmail(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        command = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname,
                   str(self.binary), "-C", str(self.conf), *args]
        return subprocess.run(in_private_etc(self.etc, command), input=stdin, capture_output=True, timeout=60)

    def send(self, sender: str, recipients: list[str], message: bytes, notify: str | None = None) -> None:
        """Submit and deliver at once; errors are mailed back to ``sender`` (-oem), as a bounce.

        The exit status still tells of a recipient's failure (sysexits: 65 data format error, as
        a refused sender is reported, 67 no such user, 68 no such host, 69 unavailable, 75
        deferred); any other is a fault of this instance.
        """
        options = ["-N", notify] if notify else []
        p = self.sendmail("-odi", "-oem", *options, "-f", sender, "--", *recipients, stdin=message)
        assert p.returncode in (0, 65, 67, 68, 69, 75), (p.returncode, p.stderr.decode(errors="replace"))

    def run_queue(self) -> None:
        self.sendmail("-q")

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


# -- DragonFly Mail Agent ---------------------------------------------------------------------

# Debian's dma conflicts with Postfix too; .ci/run unpacks it here.  An installed one is used first.
DMA_UNPACKED = Path("/opt/bounce-classify-ci/dma")
_DMA_BIN = Path("usr/sbin/dma")


def dma_missing() -> str | None:
    """Why a private dma cannot run here, or None when it can."""
    if package_root(DMA_UNPACKED, _DMA_BIN) is None:
        return f"the DragonFly Mail Agent is not installed (Debian package dma; .ci/run unpacks it to {DMA_UNPACKED})"
    if os.geteuid() != 0:
        return "the dma integration tests need root: its configuration is mounted over /etc in a private namespace"
    missing = private_etc_missing()  # dma reads /etc/dma/dma.conf and nothing else
    return f"dma's configuration cannot be given to it: {missing}" if missing else None


class Dma:
    """A private DragonFly Mail Agent: its own spool and a configuration for each smarthost, in
    a temporary directory.

    ``send`` delivers in the foreground (``-D``) through the smarthost it is given, as
    ``host:port``; dma mails its bounce back to the sender through the same smarthost.  dma
    retries a temporary failure for days, so only permanent ones are for tests.
    """

    def __init__(self, hostname: str) -> None:
        root = package_root(DMA_UNPACKED, _DMA_BIN)
        assert root is not None
        self.binary = root / _DMA_BIN
        self.hostname = hostname
        self.base = Path(tempfile.mkdtemp(prefix="bc-dma-"))
        self.base.chmod(0o755)
        self.spool = self.base / "spool"
        self.spool.mkdir()
        try:  # as Debian's spool: dma writes it with the mail group's rights
            os.chown(self.spool, 0, grp.getgrnam("mail").gr_gid)
            self.spool.chmod(0o2775)
        except KeyError:
            self.spool.chmod(0o1777)
        (self.base / "aliases").write_text("postmaster: root\n")

    def _etc(self, smarthost: str) -> Path:
        """A directory laid over /etc: dma/dma.conf routing everything to ``smarthost``."""
        host, _, port = smarthost.rpartition(":")
        etc = self.base / f"etc-{host}-{port}"
        if not etc.exists():
            (etc / "dma").mkdir(parents=True)
            (etc / "dma" / "dma.conf").write_text(
                f"SMARTHOST {host}\nPORT {port}\nSPOOLDIR {self.spool}\nALIASES {self.base / 'aliases'}\n"
                f"MAILNAME {self.hostname}\n")
        return etc

    def send(self, sender: str, recipients: list[str], message: bytes, smarthost: str) -> None:
        """Submit as a local program does, with LF line ends: dma adds a CR to every line, even
        one that has one already."""
        command = [str(self.binary), "-D", "-f", sender, "--", *recipients]
        p = subprocess.run(in_private_etc(self._etc(smarthost), command),
                           input=message.replace(b"\r\n", b"\n"), capture_output=True, timeout=60)
        assert p.returncode == 0, (p.returncode, p.stderr.decode(errors="replace"))

    def queue(self) -> str:
        """The spool's files, for a failed test's message."""
        return " ".join(sorted(f.name for f in self.spool.iterdir()))

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


# -- Dovecot's delivery agent -----------------------------------------------------------------

# Debian's dovecot-core and dovecot-sieve; .ci/run unpacks them here (installing them would set
# up and start an IMAP server).  An installed Dovecot is used first.
DOVECOT_UNPACKED = Path("/opt/bounce-classify-ci/dovecot")
_DOVECOT_LDA = Path("usr/lib/dovecot/dovecot-lda")
_DOVECOT_SIEVE = Path("usr/lib/dovecot/modules/lib90_sieve_plugin.so")
DOVECOT_USER = "nobody"  # the mailbox owner: the delivery agent refuses to run as root


def dovecot_root() -> Path | None:
    return package_root(DOVECOT_UNPACKED, _DOVECOT_LDA, _DOVECOT_SIEVE, Path("usr/bin/doveconf"))


def dovecot_missing() -> str | None:
    """Why Dovecot's delivery agent cannot run here, or None when it can."""
    if dovecot_root() is None:
        return ("Dovecot's delivery agent and Sieve are not installed (Debian packages dovecot-core and dovecot-sieve; "
                f".ci/run unpacks them to {DOVECOT_UNPACKED})")
    if os.geteuid() != 0:
        return f"the Dovecot tests need root, to deliver as the mailbox owner {DOVECOT_USER}"
    return None


class DovecotLDA:
    """Dovecot's delivery agent (dovecot-lda) with Sieve and quota, delivering into mailboxes in a
    temporary directory as ``DOVECOT_USER``.  Whatever it sends (a rejection, a vacation reply)
    goes through ``sendmail_path`` into ``outbox`` instead of onwards.

    The agent reads its settings from ``doveconf``, which is run first and hands them over in the
    environment (``doveconf -e``), so an unpacked copy needs no files in /etc or /usr.
    """

    def __init__(self, hostname: str) -> None:
        root = dovecot_root()
        assert root is not None
        self.root = root
        self.base = Path(tempfile.mkdtemp(prefix="bc-dovecot-"))
        self.base.chmod(0o755)
        self.outbox = self.base / "outbox"
        owner = pwd.getpwnam(DOVECOT_USER)
        self.uid, self.gid = owner.pw_uid, owner.pw_gid
        for sub in ("outbox", "run", "logs"):  # written by the agent, as the mailbox owner
            (self.base / sub).mkdir()
            os.chown(self.base / sub, self.uid, self.gid)
        capture = self.base / "sendmail"
        capture.write_text(f'#!/bin/sh\ncat > "$(mktemp {self.outbox}/XXXXXXXX.eml)"\n')
        capture.chmod(0o755)
        modules = root / "usr/lib/dovecot/modules"
        self.conf = self.base / "dovecot.conf"
        self.conf.write_text(f"""\
mail_location = maildir:~/Maildir
mail_plugin_dir = {modules}
base_dir = {self.base}/run
hostname = {hostname}
postmaster_address = postmaster@{hostname}
sendmail_path = {capture}
ssl = no
log_path = {self.base}/logs/lda.log
quota_full_tempfail = no
mail_plugins = quota sieve
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_plugindir = {modules}/sieve
  quota = maildir:User quota
}}
""")

    def deliver(self, sender: str, recipient: str, message: bytes, sieve: str | None = None,
                quota: str | None = None) -> None:
        """Deliver ``message`` to ``recipient``'s own mailbox, under its Sieve script and a quota
        rule such as ``*:storage=1k``."""
        home = self.base / "homes" / recipient
        home.mkdir(parents=True)
        if sieve:
            (home / ".dovecot.sieve").write_text(sieve)
        for path in (home, *home.iterdir()):
            os.chown(path, self.uid, self.gid)
        options = ["-o", f"plugin/quota_rule={quota}"] if quota else []
        env = {"HOME": str(home), "USER": DOVECOT_USER, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if self.root != Path("/"):
            env["LD_LIBRARY_PATH"] = str(self.root / "usr/lib/dovecot")  # its libraries' run path is /usr
        p = subprocess.run(["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                            str(self.root / "usr/bin/doveconf"), "-c", str(self.conf), "-m", "lda", "-e",
                            str(self.root / _DOVECOT_LDA), *options, "-f", sender, "-a", recipient],
                           input=message, env=env, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode(errors="replace") + self.log()

    def sent(self) -> dict[str, bytes]:
        """What the agent has sent so far, by file name."""
        return {p.name: p.read_bytes() for p in self.outbox.glob("*.eml")}

    def log(self) -> str:
        return log_text(self.base / "logs" / "lda.log")

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


# -- OpenSMTPD --------------------------------------------------------------------------------

# Like Exim's, Debian's opensmtpd package conflicts with Postfix; .ci/run unpacks it here.  Its
# spool (/var/spool/smtpd) and control socket are compiled in, so only one can run at a time.
OPENSMTPD_UNPACKED = Path("/opt/bounce-classify-ci/opensmtpd/usr/sbin/smtpd")
OPENSMTPD_SPOOL = Path("/var/spool/smtpd")
OPENSMTPD_SOCKET = Path("/var/run/smtpd.sock")


def opensmtpd_binary() -> Path | None:
    return installed_or_unpacked(Path("/usr/sbin/smtpd"), OPENSMTPD_UNPACKED)


def opensmtpd_missing() -> str | None:
    """Why a private OpenSMTPD cannot run here, or None when it can."""
    if opensmtpd_binary() is None:
        return f"OpenSMTPD is not installed (Debian package opensmtpd; .ci/run unpacks it to {OPENSMTPD_UNPACKED})"
    if os.geteuid() != 0:
        return "the OpenSMTPD integration tests need root: smtpd starts as root and drops to its users"
    for user in ("opensmtpd", "opensmtpq"):
        try:
            home = Path(pwd.getpwnam(user).pw_dir)
        except KeyError:
            return f"the user {user} that OpenSMTPD runs as does not exist; .ci/run creates it"
        if not home.is_dir():
            return f"{user}'s home {home}, where OpenSMTPD confines itself, does not exist; .ci/run creates it"
    if OPENSMTPD_SOCKET.exists():
        with socket.socket(socket.AF_UNIX) as probe:
            if probe.connect_ex(str(OPENSMTPD_SOCKET)) == 0:
                return "an OpenSMTPD is already running here, and its spool cannot be shared"
    return None


class OpenSMTPD:
    """A private OpenSMTPD in the foreground, with its configuration in a temporary directory.

    ``routes`` maps a domain to ``host:port``; ``main`` is added before the listener (queue
    lifetime, warning interval).  With ``etc``, a directory laid over /etc for the daemon (see
    `in_private_etc`), other domains are relayed by their MX records, through the resolver its
    resolv.conf names.  Its spool is the compiled-in one, removed again on close unless it was
    there before.
    """

    def __init__(self, hostname: str, routes: dict[str, str], main: str = "", etc: Path | None = None) -> None:
        binary = opensmtpd_binary()
        assert binary is not None
        self.base = Path(tempfile.mkdtemp(prefix="bc-opensmtpd-"))
        self.base.chmod(0o755)
        self.spool_existed = OPENSMTPD_SPOOL.exists()
        self.port = free_port()
        lines = [main, f"listen on 127.0.0.1 port {self.port} hostname {hostname}"]
        for i, (domain, target) in enumerate(routes.items()):
            lines.append(f'action "route{i}" relay host smtp://{target} helo {hostname}')
            lines.append(f'match from any for domain "{domain}" action "route{i}"')
        if etc:
            lines += [f'action "mx" relay helo {hostname}', 'match from any for any action "mx"']
        conf = self.base / "smtpd.conf"
        conf.write_text("\n".join(lines) + "\n")
        conf.chmod(0o644)
        self.log = open(self.base / "smtpd.log", "wb")
        self.proc = subprocess.Popen(in_private_etc(etc, [str(binary), "-d", "-f", str(conf)]), stdout=self.log,
                                     stderr=subprocess.STDOUT)

        def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"smtpd exited: {self.logs()}")
            return answers_smtp(self.port)

        try:
            wait_for(listening, 20, "OpenSMTPD to listen")
        except BaseException:
            self.close()
            raise

    def send(self, sender: str, recipients: list[str], message: bytes, rcpt_options: tuple[str, ...] = ()) -> None:
        smtp_send(self.port, sender, recipients, message, rcpt_options)

    def logs(self) -> str:
        self.log.flush()
        return (self.base / "smtpd.log").read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if not self.spool_existed:
            shutil.rmtree(OPENSMTPD_SPOOL, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)
