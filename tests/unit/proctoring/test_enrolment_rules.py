from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from proctoring import (
    Enrolment,
    EnrolmentFormatError,
    EnrolmentRefused,
    StaleEnrolmentError,
    add_capture,
    analyze_frame,
    encoder_version,
    find_faces,
    is_stale,
    ImageDecodeError,
    enrol,
)
from tests.conftest import FACES


def _enrolment(version: str | None = None) -> Enrolment:
    return Enrolment(person_id="p1", encodings=((0.0,) * 128,), model_version=version or encoder_version())


def test_enrolment_made_by_another_model_is_stale():
    assert not is_stale(_enrolment())
    assert is_stale(_enrolment("dlib-resnet-v0"))


def test_analysis_refuses_a_stale_enrolment():
    with pytest.raises(StaleEnrolmentError):
        analyze_frame(b"x", enrolment=_enrolment("old"), frame_id="f", captured_at=0.0)


@pytest.mark.parametrize("bad", [b"", b"{}", b'{"v": 99}', b'{"v":1,"person_id":"p","encodings":[[1,2]],"model_version":"m"}'])
def test_malformed_enrolment_data_is_rejected(bad):
    with pytest.raises(EnrolmentFormatError):
        Enrolment.from_bytes(bad)


def test_find_faces_rejects_non_images():
    with pytest.raises(ImageDecodeError):
        find_faces(b"\xff\xd8garbage")


def test_live_capture_of_another_person_is_refused(identity_photos, enrolments):
    with pytest.raises(EnrolmentRefused) as err:
        add_capture(enrolments["obama"], identity_photos["biden"][0].read())
    assert err.value.refusal.code == "not_same_person"


def test_live_capture_of_the_same_person_is_added(identity_photos, enrolments):
    e = add_capture(enrolments["obama"], identity_photos["obama"][1].read())
    assert len(e.encodings) == 2 and e.sources == ("registration", "live")
    assert dataclasses.replace(e, updated_at=0) != dataclasses.replace(enrolments["obama"], updated_at=0)


def test_enrolling_the_same_photo_twice_gives_the_same_encoding(identity_photos):
    # dlib's own jitter drew from a generator kept in the model object: the second
    # enrolment of a photo in a process came out ~0.06 away from the first.
    photo = identity_photos["df01"][0].read()
    first = enrol(photo, person_id="p", now=0.0)
    assert enrol(photo, person_id="p", now=0.0) == first
    again = add_capture(first, identity_photos["df01"][1].read(), now=0.0)
    assert add_capture(first, identity_photos["df01"][1].read(), now=0.0) == again


def test_another_process_enrols_a_photo_to_the_same_encoding(identity_photos):
    # As another worker (or a re-enrolment after a restart) would: a fresh process and model.
    photo = identity_photos["df01"][0]
    code = (
        "import sys, warnings; warnings.simplefilter('ignore'); from pathlib import Path; import proctoring; "
        "sys.stdout.write(proctoring.enrol(Path(sys.argv[1]).read_bytes(), person_id='p', now=0.0)"
        ".to_bytes().decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(FACES / photo.path)], capture_output=True, text=True, check=True, timeout=120
    )
    assert Enrolment.from_bytes(out.stdout.encode()) == enrol(photo.read(), person_id="p", now=0.0)
