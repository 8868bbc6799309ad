// The microphone's audio as the live session wants it: 16 kHz mono 16-bit little-endian PCM,
// posted to the page in frames of 100 ms (an ArrayBuffer each). Runs on the audio thread
// (an AudioWorkletProcessor); the context's own rate (48 kHz, 44.1 kHz ...) is brought down
// to 16 kHz here by linear interpolation between the input samples.

const TARGET_RATE = 16000;
const FRAME = TARGET_RATE / 10; // samples in 100 ms

class PcmFrames extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.position = 0; // where the next output sample falls, in input samples from `this.last`
    this.last = 0; // the previous block's last input sample
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    // positions: -1 is `this.last`, 0..n-1 the new block
    let pos = this.position;
    while (pos < channel.length - 1 + 1e-9) {
      const i = Math.floor(pos);
      const frac = pos - i;
      const a = i < 0 ? this.last : channel[i];
      const b = channel[Math.min(i + 1, channel.length - 1)];
      this.push(a + (b - a) * frac);
      pos += this.step;
    }
    this.position = pos - channel.length;
    this.last = channel[channel.length - 1];
    return true;
  }

  push(sample) {
    const s = Math.max(-1, Math.min(1, sample));
    this.frame[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    if (this.filled === FRAME) {
      const out = this.frame;
      this.port.postMessage(out.buffer, [out.buffer]);
      this.frame = new Int16Array(FRAME);
      this.filled = 0;
    }
  }
}

registerProcessor("pcm-frames", PcmFrames);
