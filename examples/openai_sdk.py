import os

from openai import OpenAI

gateway = os.environ.get("OMNISENSE_URL", "http://127.0.0.1:8080")
ai = OpenAI(base_url=f"{gateway}/v1", api_key=os.environ.get("OMNISENSE_API_KEY", "none"))

speech = ai.audio.speech.create(model="tts-1", voice="alloy", input="Hello from the gateway", response_format="wav")
heard = ai.audio.transcriptions.create(model="whisper-1", file=("hello.wav", speech.content))
print(heard.text)
print(ai.audio.transcriptions.create(model="local", file=("hello.wav", speech.content), response_format="srt"))
verdicts = ai.moderations.create(model="omnisense", input=["Have a lovely day", "You are a fucking idiot"])
print([result.flagged for result in verdicts.results])
