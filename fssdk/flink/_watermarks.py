"""The watermarks of ``fssdk run`` on Flink: after every record, the largest timestamp minus
the delay.

Flink's built-in strategies emit periodically (every ``pipeline.auto-watermark-interval``) and
subtract one more millisecond, so on a bounded file the watermark trails the records by a
varying amount. PyFlink cannot run a watermark generator written in Python, so the generator is
a small Java class shipped as source (``java/LargestTimestampMinusDelay.java``) and compiled
with the JDK's ``javac`` once per source and Flink version, into the user's cache folder
(``$XDG_CACHE_HOME/fssdk``, default ``~/.cache/fssdk``). The jar goes to the cluster with the
job (``pipeline.jars``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Final

from fssdk.runtime._run_errors import UsageError

#: The Java class of the strategy, and its source next to this module.
STRATEGY_CLASS: Final = "org.fssdk.flink.LargestTimestampMinusDelay"
SOURCE: Final = Path(__file__).with_name("java") / "LargestTimestampMinusDelay.java"


def _cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "fssdk"


def _flink_dist_jar() -> Path:
    import pyflink  # noqa: PLC0415 - the flink extra, loaded for a Flink run only

    found = sorted(Path(pyflink.__file__).parent.glob("lib/flink-dist*.jar"))
    if not found:
        raise UsageError("PyFlink's lib folder holds no flink-dist jar: reinstall apache-flink")
    return found[0]


def watermark_jar() -> Path:
    """The jar holding :data:`STRATEGY_CLASS`, compiled on first use (about 2 s) and cached.

    ``UsageError`` when no ``javac`` is on the ``PATH`` (a JRE without the JDK) or it fails.
    """
    dist = _flink_dist_jar()
    digest = hashlib.sha256(SOURCE.read_bytes() + dist.name.encode()).hexdigest()[:16]
    jar = _cache_folder() / f"fssdk-watermarks-{digest}.jar"
    if jar.is_file():
        return jar
    javac = shutil.which("javac")
    if javac is None:
        raise UsageError(
            "--watermark-field on Flink needs javac (a JDK, 17 or later) once, to build the "
            f"watermark generator {SOURCE.name}; none is on the PATH"
        )
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fssdk-javac-") as scratch:
        classes = Path(scratch) / "classes"
        done = subprocess.run(
            [javac, "--release", "17", "-classpath", str(dist), "-d", str(classes), str(SOURCE)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise UsageError(f"javac could not build {SOURCE.name}:\n{done.stderr[-2000:]}")
        partial = Path(scratch) / jar.name
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for path in sorted(classes.rglob("*.class")):
                archive.write(path, path.relative_to(classes).as_posix())
        # Another process may build the same jar at once: each moves a complete file in.
        os.replace(partial, jar)
    return jar
