import pytest
import respx

from tests.conftest import connect


@pytest.mark.anyio
async def test_server_lists_tools_and_calls_one() -> None:
    with respx.mock(base_url="https://api.datadoghq.com") as mock:
        mock.get("/api/v1/metrics/system.cpu.user").respond(200, json={"type": "gauge", "unit": "percent"})
        async with connect() as client:
            tools = await client.list_tools()
            assert "get_metric_metadata" in {t.name for t in tools.tools}
            result = await client.call_tool("get_metric_metadata", {"metric_name": "system.cpu.user"})
    assert result.structured_content == {"metric_name": "system.cpu.user", "type": "gauge", "unit": "percent"}
