"""Start and stop the servers the compat tests talk to: the Python reference service (uvicorn),
our Rust server (`perfstore serve`) and moto's S3 server. Everything binds 127.0.0.1.

Each server runs in its own scratch working directory (the reference calls `load_dotenv()`, so a
stray `.env` in the caller's directory must not leak in) and logs to a file there; `Server.stop()`
terminates the process it started and nothing else.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent

# The key both servers are started with when auth is on (stock reference app, `perfstore serve`).
# (run.sh exports the same values so the servers it starts agree with these.)
API_KEY_NAME = os.environ.get('COMPAT_API_KEY_NAME', 'x-api-key')
API_KEY_VALUE = os.environ.get('COMPAT_API_KEY_VALUE', 'compat-secret-123')

READY_TIMEOUT_SECONDS = float(os.environ.get('COMPAT_READY_TIMEOUT', '60'))

# Variables that would make a server pick another backend or key than the one a test asks for.
_SCRUBBED_ENV = ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE',
                 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_LAMBDA_FUNCTION_NAME',
                 'CACHE__SERVICE__STORAGE_MODE', 'CACHE__SERVICE__LOCAL_DISK_PATH',
                 'AWS_ALLOW_HTTP', 'CACHE__SERVICE__BUCKET_NAME', 'FAST_API__AUTH__API_KEY__NAME',
                 'FAST_API__AUTH__API_KEY__VALUE')


class ServerStartError(RuntimeError):
    """A server process exited or did not answer its readiness probe in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def venv_bin(name: str) -> str:
    """Path of an executable in the venv running these tests (setup.sh's venv under run.sh)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise ServerStartError(f'{name} not found next to {sys.executable} nor on PATH; run tests/compat/setup.sh')
    return found


def perfstore_bin() -> str:
    """Our server binary: $PERFSTORE_BIN, else target/debug/perfstore (honouring CARGO_TARGET_DIR)."""
    explicit = os.environ.get('PERFSTORE_BIN')
    if explicit:
        return os.path.abspath(explicit)          # servers run in a scratch cwd
    target_dir = Path(os.environ.get('CARGO_TARGET_DIR', REPO_ROOT / 'target'))
    return str(target_dir / 'debug' / 'perfstore')


@dataclass
class Server:
    """A process serving HTTP on 127.0.0.1:port, with its log file."""
    name: str
    port: int
    process: subprocess.Popen | None
    log_path: Path
    workdir: Path | None = None
    auth: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    @property
    def auth_headers(self) -> dict:
        return {API_KEY_NAME: API_KEY_VALUE} if self.auth else {}

    def log_tail(self, lines: int = 40) -> str:
        try:
            return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-lines:])
        except OSError as error:
            return f'(no log: {error})'

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after 5 s). Safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> 'Server':
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


def _spawn(name: str, argv: list[str], env: dict, port: int, probe_path: str, auth: bool,
           probe_headers: dict | None = None, extra: dict | None = None) -> Server:
    workdir = Path(tempfile.mkdtemp(prefix=f'compat-{name}-'))
    log_path = Path(os.environ.get('COMPAT_LOG_DIR', workdir)) / f'{name}-{port}.log'
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = Server(name=name, port=port, process=process, log_path=log_path, workdir=workdir,
                    auth=auth, extra=extra or {})
    try:
        wait_ready(server, probe_path, probe_headers if probe_headers is not None else server.auth_headers)
    except ServerStartError:
        server.stop()
        raise
    return server


def wait_ready(server: Server, probe_path: str = '/info/health', headers: dict | None = None,
               timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Poll `probe_path` until it answers 200; raise with the log tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    last_error = 'no attempt'
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise ServerStartError(f'{server.name} exited with code {server.process.returncode} before '
                                   f'becoming ready; log {server.log_path}:\n{server.log_tail()}')
        try:
            response = requests.get(server.base_url + probe_path, headers=headers or {}, timeout=2)
            if response.status_code == 200:
                return
            last_error = f'HTTP {response.status_code}: {response.text[:200]}'
        except requests.RequestException as error:
            last_error = str(error)
        time.sleep(0.2)
    raise ServerStartError(f'{server.name} not ready after {timeout:.0f}s ({last_error}); '
                           f'log {server.log_path}:\n{server.log_tail()}')


def _base_env(storage_env: dict, auth: bool, extra_env: dict | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.update(storage_env)
    if auth:
        env['FAST_API__AUTH__API_KEY__NAME'] = API_KEY_NAME
        env['FAST_API__AUTH__API_KEY__VALUE'] = API_KEY_VALUE
    env.update(extra_env or {})
    return env


def start_reference(storage: str = 'memory', path: str | None = None, auth: bool = False,
                    extra_env: dict | None = None, name: str = 'reference') -> Server:
    """The Python reference under uvicorn: the stock app when `auth`, else the no-auth launcher.

    storage: the reference's CACHE__SERVICE__STORAGE_MODE (`memory`, `local_disk`, `s3`).
    """
    if auth and 'AWS_REGION' in (extra_env or {}):
        # The stock lambda_handler downloads Lambda dependencies from S3 when AWS_REGION is set.
        raise ServerStartError('the stock reference app cannot run with AWS_REGION set; use auth=False')
    storage_env = {'CACHE__SERVICE__STORAGE_MODE': storage}
    if storage == 'local_disk':
        storage_env['CACHE__SERVICE__LOCAL_DISK_PATH'] = str(path)
    env = _base_env(storage_env, auth, extra_env)
    port = free_port()
    app = 'mgraph_ai_service_cache.fast_api.lambda_handler:app' if auth else 'no_auth_app:app'
    argv = [venv_bin('uvicorn'), app, '--app-dir', str(HERE), '--host', '127.0.0.1', '--port', str(port),
            '--log-level', 'warning']
    return _spawn(f'{name}-{storage}{"-auth" if auth else ""}', argv, env, port, '/info/health', auth)


def start_ours(storage: str = 'memory', path: str | None = None, auth: bool = False,
               extra_env: dict | None = None, name: str = 'ours') -> Server:
    """Our Rust server: `perfstore serve --storage memory|disk|s3 [--path DIR] [--no-auth]`."""
    binary = perfstore_bin()
    if not Path(binary).exists():
        raise ServerStartError(f'our server binary {binary} does not exist; build it with '
                               f'`cargo build -p perfstore-cli` (or set PERFSTORE_BIN)')
    env = _base_env({}, auth, extra_env)
    port = free_port()
    argv = [binary, 'serve', '--host', '127.0.0.1', '--port', str(port), '--storage', storage]
    if path is not None:
        argv += ['--path', str(path)]
    if not auth:
        argv.append('--no-auth')
    return _spawn(f'{name}-{storage}{"-auth" if auth else ""}', argv, env, port, '/info/health', auth)


def start_moto() -> Server:
    """moto's S3-compatible server (`python -m moto.server`) on 127.0.0.1."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    argv = [sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p', str(port)]
    return _spawn('moto', argv, env, port, '/moto-api/', auth=False, probe_headers={})


def s3_env(moto: Server, bucket: str, allow_http: bool = True) -> dict:
    """Env that points a boto3-based or object_store-based server at moto with dummy credentials.

    AWS_ALLOW_HTTP is object_store's switch for plain-http endpoints; boto3 (the reference)
    neither needs nor reads it. test_s3 checks separately whether ours works without it.
    """
    env = {'AWS_ENDPOINT_URL': moto.base_url, 'AWS_ACCESS_KEY_ID': 'testing',
           'AWS_SECRET_ACCESS_KEY': 'testing', 'AWS_REGION': 'us-east-1',
           'AWS_DEFAULT_REGION': 'us-east-1', 'CACHE__SERVICE__BUCKET_NAME': bucket}
    if allow_http:
        env['AWS_ALLOW_HTTP'] = 'true'
    return env
