"""What code does, by dotted name: the tables of process, network, import, file-write, decoding
and code-loading names the grader looks for, and the matcher that applies them.

Tables are whitespace-separated names so that they stay short and greppable. In the ``*_NAMES``
tuples a trailing ``*`` is a prefix match; otherwise the name or any attribute below it matches
(see :func:`matches_name`). ``*_TERMINALS`` sets match the last name component alone.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, Tuple

from sitesweep.checks.pth_findings import Feature


def _words(text: str) -> Tuple[str, ...]:
    """Split a whitespace-separated table into its names."""
    return tuple(text.split())


SPAWN_NAMES = _words(
    """subprocess.Popen subprocess.run subprocess.call subprocess.check_call
    subprocess.check_output subprocess.getoutput subprocess.getstatusoutput os.system os.popen
    os.exec* os.spawn* os.posix_spawn* os.fork os.forkpty os.startfile pty.spawn pty.fork
    commands.* popen2.* platform.popen asyncio.create_subprocess_* multiprocessing.Process
    multiprocessing.Pool multiprocessing.get_context multiprocessing.context.*
    multiprocessing.popen_* multiprocessing.spawn.* concurrent.futures.ProcessPoolExecutor
    _posixsubprocess.fork_exec os.spawn"""
)
SPAWN_TERMINALS = frozenset(
    _words("Popen check_output getstatusoutput create_subprocess_shell ProcessPoolExecutor")
)
NETWORK_NAMES = _words(
    """socket.* ssl.wrap_socket urllib.request.* urllib.urlopen urllib.urlretrieve urllib2.*
    http.client.* httplib.* requests.* httpx.* urllib3.* aiohttp.* ftplib.* smtplib.* telnetlib.*
    xmlrpc.client.* paramiko.* websocket.* websockets.* pycurl.* asyncio.open_connection
    dns.resolver.*"""
)
NETWORK_TERMINALS = frozenset(_words("urlopen urlretrieve create_connection gethostbyname"))
DYNAMIC_IMPORT_NAMES = _words(
    """importlib.import_module importlib.__import__ importlib.reload imp.load_* runpy.run_path
    runpy.run_module importlib.util.spec_from_file_location importlib.machinery.SourceFileLoader
    importlib.machinery.SourcelessFileLoader importlib.machinery.ExtensionFileLoader
    zipimport.zipimporter ctypes.CDLL ctypes.PyDLL ctypes.WinDLL ctypes.OleDLL ctypes.cdll
    ctypes.windll ctypes.pydll"""
)
FILE_WRITE_NAMES = _words(
    """os.remove os.unlink os.rmdir os.removedirs os.rename os.renames os.replace os.chmod
    os.lchmod os.fchmod os.chown os.lchown os.fchown os.truncate os.ftruncate os.symlink os.link
    os.mkfifo os.mknod os.write shutil.rmtree shutil.move shutil.copy* shutil.chown
    shutil.unpack_archive"""
)
FILE_WRITE_METHODS = frozenset(
    _words("write_text write_bytes unlink chmod lchmod touch symlink_to hardlink_to")
)
OPEN_CALLS = frozenset(_words("open io.open codecs.open os.fdopen gzip.open bz2.open lzma.open"))
CODE_LOADERS = _words(
    """marshal.loads marshal.load pickle.loads pickle.load _pickle.loads cPickle.loads dill.loads
    cloudpickle.loads"""
)
EXEC_CALLS = frozenset(_words("exec eval compile execfile"))
DECODERS: Dict[str, str] = {
    name: label
    for label, names in (
        ("base64", "b64decode standard_b64decode urlsafe_b64decode decodebytes decodestring"),
        ("base64", "a2b_base64"),
        ("base32", "b32decode b32hexdecode"),
        ("hex", "b16decode a2b_hex unhexlify fromhex"),
        ("base85", "b85decode a85decode z85decode"),
        ("uu", "a2b_uu"),
        ("quoted-printable", "a2b_qp"),
        ("zlib", "decompress decompressobj"),
    )
    for name in names.split()
}
"""Decoding functions by their last name component, with the word used in reasons."""
CODEC_NAMES = frozenset(
    _words(
        """base64 base_64 base64_codec hex hex_codec rot13 rot_13 zlib zip zlib_codec bz2
        bz2_codec uu uu_codec quopri quopri_codec"""
    )
)
ENV_OBJECTS = frozenset(_words("os.environ os.environb posix.environ nt.environ"))
ENV_SINGLE_KEY_ATTRS = frozenset(
    _words("get setdefault pop update __getitem__ __setitem__ __delitem__ __contains__")
)
BUILTIN_NAMESPACES = frozenset(
    _words(
        """builtins __builtins__ __builtin__ builtins.__dict__ __builtins__.__dict__
        __builtin__.__dict__ globals()"""
    )
)
SENSITIVE_MODULES = frozenset(
    _words("os posix nt subprocess builtins __builtins__ importlib socket sys pty ctypes marshal")
)
_NO_NAMES: FrozenSet[str] = frozenset()

REFERENCE_RULES: Tuple[Tuple[Feature, Tuple[str, ...], FrozenSet[str]], ...] = (
    (Feature.SPAWN_PROCESS, SPAWN_NAMES, SPAWN_TERMINALS),
    (Feature.NETWORK, NETWORK_NAMES, NETWORK_TERMINALS),
    (Feature.DYNAMIC_IMPORT, DYNAMIC_IMPORT_NAMES, _NO_NAMES),
    (Feature.FILE_WRITE, FILE_WRITE_NAMES, _NO_NAMES),
    (Feature.DECODE_EXEC, CODE_LOADERS, _NO_NAMES),
)
"""(feature, dotted names, terminal names): a name referenced or called shows the feature."""


def matches_name(dotted: str, names: Iterable[str]) -> bool:
    """Whether ``dotted`` is one of ``names``, an attribute below one, or has a ``*`` prefix."""
    if isinstance(names, tuple):  # the rule tables: one set lookup and one startswith
        matcher = _MATCHERS.get(names)
        if matcher is None:
            matcher = _MATCHERS[names] = _matcher(names)
        return dotted in matcher[0] or dotted.startswith(matcher[1])
    for name in names:
        if name.endswith("*"):
            if dotted.startswith(name[:-1]):
                return True
        elif dotted == name or dotted.startswith(name + "."):
            return True
    return False


_MATCHERS: Dict[Tuple[str, ...], Tuple[FrozenSet[str], Tuple[str, ...]]] = {}


def _matcher(names: Tuple[str, ...]) -> Tuple[FrozenSet[str], Tuple[str, ...]]:
    """The names themselves, and the prefixes a name below one of them (or matching a ``*``
    prefix) starts with."""
    exact = frozenset(n for n in names if not n.endswith("*"))
    prefixes = tuple(n[:-1] if n.endswith("*") else n + "." for n in names)
    return exact, prefixes


def last_name(dotted: str) -> str:
    """The last component of a dotted name (``system`` for ``os.system``)."""
    return dotted.rsplit(".", 1)[-1]
