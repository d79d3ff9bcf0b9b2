"""Moved to `synkinesis.records.media` (actions store uploads without importing web); the old names
stay importable from here."""

from ..records.media import (CHUNK, KEY_FRAME_MAX_SIDE, MAX_PIXELS, UploadTooLarge, check_dimensions,  # noqa: F401
                             check_media, display_name, draw_landmarks, media_checks, move_into_place, patient_dir,
                             recording_dir, safe_suffix, spool_upload, CLOSEUPS, write_key_frame)
