"""The upload worker: claims queued uploads and turns them into nights and PHQ-9 entries.

Any number of workers (threads of ``phenowatch serve`` or ``phenowatch worker`` processes) share
one queue. Parsing happens outside any transaction; the result is stored, the upload marked
done and the patient marked for detection in one transaction that first checks this worker's
claim is still current, so an upload is stored once even if a slow worker's lease ran out.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

import ingest
from api.clock import Clock
from api.services import audit, uploads
from api.services.nights import store_nights
from api.services.patients import mark_for_detection
from api.services.phq9 import submit_phq9
from api.services.tokens import Principal
from api.settings import Settings
from api.unit_of_work import unit_of_work
from api.webhooks.dispatch import Outbound
from ingest.errors import IngestError
from ingest.nights import NIGHTS_METRICS
from ingest.read_report import ReadWarning

log = logging.getLogger(__name__)


class UploadWorker:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        settings: Settings,
        clock: Clock,
        name: str | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.clock = clock
        self.name = name or f"worker:{os.getpid()}"
        self.principal = Principal(role="system")
        self.wakeup = threading.Event()
        #: called inside the final transaction just before it commits (fault-injection tests)
        self.before_commit = before_commit

    def process_next(self) -> str | None:
        """Processes one upload; returns its id, or None when the queue is empty."""
        lease = timedelta(seconds=self.settings.upload_lease_seconds)
        with unit_of_work(self.factory, clock=self.clock) as work:
            upload = uploads.claim_next(work.session, now=self.clock.now(), lease=lease)
            if upload is None:
                return None
            upload_id, attempt, patient_id = upload.id, upload.attempts, upload.patient_id
            path, filename = Path(upload.spool_path), upload.filename
        if attempt > self.settings.upload_max_attempts:
            self._fail(
                upload_id,
                attempt,
                patient_id,
                path,
                f"{filename}: gave up after {attempt - 1} attempts that ended without a result",
            )
            return upload_id
        try:
            with self._heartbeat(upload_id, attempt, lease):
                # only what the nights table reads: years of raw heart rate never fill memory
                loaded = ingest.load(
                    path,
                    patient_id=patient_id,
                    display=filename,
                    metrics=NIGHTS_METRICS,
                    hourly_steps=True,
                )
                nights = ingest.build_nights(loaded.samples)
        except IngestError as error:  # nothing at all could be read: the message names the files
            self._fail(upload_id, attempt, patient_id, path, str(error))
            return upload_id
        except FileNotFoundError:
            self._fail(
                upload_id, attempt, patient_id, path, f"{filename}: the upload's bytes are gone"
            )
            return upload_id
        except Exception:
            log.exception("upload %s: unexpected error while reading; will retry", upload_id)
            self._release(upload_id, attempt)
            return upload_id
        if nights.is_empty() and loaded.phq9.is_empty():
            read = ", ".join(name for name, _ in loaded.read)
            self._fail(
                upload_id,
                attempt,
                patient_id,
                path,
                f"{filename}: no sleep, heart rate, step or PHQ-9 data was found in {read}",
                loaded.warnings,
            )
            return upload_id
        with unit_of_work(
            self.factory,
            clock=self.clock,
            public_url=self.settings.public_url,
            outbound=Outbound.from_settings(self.settings),
        ) as work:
            session = work.session
            held = uploads.hold(session, upload_id=upload_id, attempt=attempt)
            if held is None:
                log.info("upload %s: claim superseded, leaving it to the newer claim", upload_id)
                return None
            now = self.clock.now()
            added = store_nights(session, patient_id=patient_id, nights=nights, now=now)
            phq9_added = 0
            if loaded.phq9.height:
                submit_phq9(
                    work, patient_id=patient_id, entries=loaded.phq9, actor=self.name, now=now
                )
                phq9_added = int(loaded.phq9["answered_at"].is_not_null().sum())
            uploads.finish(
                held,
                now=now,
                nights_added=added,
                phq9_added=phq9_added,
                warnings=loaded.warnings,
            )
            mark_for_detection(session, patient_id=patient_id, now=now)
            self._audit(session, upload_id, patient_id, "done")
            if self.before_commit is not None:
                self.before_commit()
        path.unlink(missing_ok=True)
        log.info("upload %s done: %d nights", upload_id, added)
        return upload_id

    def drain(self, limit: int = 1000) -> list[str]:
        """Processes uploads until the queue is empty (or ``limit``); returns their ids."""
        done: list[str] = []
        while len(done) < limit:
            upload_id = self.process_next()
            if upload_id is None:
                break
            done.append(upload_id)
        return done

    def run(self, stop: threading.Event) -> None:
        """Works until ``stop`` is set, sleeping between polls unless woken."""
        while not stop.is_set():
            try:
                busy = self.process_next() is not None
            except Exception:
                log.exception("upload worker: unexpected error; continuing")
                busy = False
            if not busy:
                self.wakeup.wait(self.settings.worker_poll_seconds)
                self.wakeup.clear()

    @contextmanager
    def _heartbeat(self, upload_id: str, attempt: int, lease: timedelta) -> Iterator[None]:
        """Keeps the claim's lease fresh while a long export is parsed, so only a dead worker's
        upload is ever claimed again."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(lease.total_seconds() / 3):
                try:
                    with unit_of_work(self.factory, clock=self.clock) as work:
                        uploads.extend_lease(
                            work.session,
                            upload_id=upload_id,
                            attempt=attempt,
                            until=self.clock.now() + lease,
                        )
                except Exception:
                    log.warning("upload %s: could not extend the lease", upload_id, exc_info=True)

        thread = threading.Thread(target=beat, name=f"lease-{upload_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _fail(
        self,
        upload_id: str,
        attempt: int,
        patient_id: str,
        path: Path,
        message: str,
        warnings: list[ReadWarning] | None = None,
    ) -> None:
        with unit_of_work(self.factory, clock=self.clock) as work:
            held = uploads.hold(work.session, upload_id=upload_id, attempt=attempt)
            if held is None:
                return
            uploads.fail(held, now=self.clock.now(), message=message, warnings=warnings)
            self._audit(work.session, upload_id, patient_id, "failed")
        path.unlink(missing_ok=True)
        log.info("upload %s failed", upload_id)  # the message may quote the file: not logged

    def _release(self, upload_id: str, attempt: int) -> None:
        with unit_of_work(self.factory, clock=self.clock) as work:
            held = uploads.hold(work.session, upload_id=upload_id, attempt=attempt)
            if held is not None:
                uploads.release(held)

    def _audit(self, session: Session, upload_id: str, patient_id: str, outcome: str) -> None:
        audit.record(
            session,
            principal=self.principal,
            action="upload.process",
            resource=f"upload:{upload_id} by {self.name}",
            outcome=outcome,
            now=self.clock.now(),
            patient_id=patient_id,
        )
