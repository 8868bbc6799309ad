import asyncio
import os

from mcp import Client
from mcp.client.stdio import StdioServerParameters

# `omnisense mcp` over stdio; OMNISENSE_URL and OMNISENSE_API_KEY pass through to it
server = StdioServerParameters(command="omnisense", args=["mcp"], env=dict(os.environ))


async def main() -> None:
    async with Client(server) as agent:
        print([tool.name for tool in (await agent.list_tools()).tools])
        answer = await agent.call_tool("text_sentiment", {"text": "I love it!"})
        print(answer.structured_content["result"]["label"])


asyncio.run(main())
