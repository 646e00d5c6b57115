"""Fixtures for the print shop's service tests: a print-shop user and minted batches."""

from __future__ import annotations

import pytest
from batch_helpers import LAYOUT

from stickerreg.models import Batch, Role
from stickerreg.services.printshop import batches


@pytest.fixture
def staff(user_factory):
    return user_factory(email="print@example.se", role=Role.PRINTSHOP)


@pytest.fixture
def make_batch(session, staff):
    def make(count: int = 10, set_size: int = 3, product: str = "Nyckelbricka", layout: str = LAYOUT) -> Batch:
        batch = batches.create_and_mint(session, count=count, set_size=set_size, layout=layout, product=product,
                                        actor=staff)
        session.commit()
        return batch

    return make
