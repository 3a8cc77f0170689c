import pytest

from tests.helpers.stack import DevStack


@pytest.fixture
async def stack(tmp_path):
    async with DevStack(tmp_path) as st:
        yield st
