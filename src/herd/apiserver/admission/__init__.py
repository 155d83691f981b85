"""Admission: the seam every write passes (`base`) and dynamic admission webhooks (`webhooks` and its parts)."""

from .base import Admission, AdmissionAttributes, NoAdmission

__all__ = ["Admission", "AdmissionAttributes", "NoAdmission"]
