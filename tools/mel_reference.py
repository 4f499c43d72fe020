#!/usr/bin/python3
"""Independent reference data for tests/test_mel.c (never needed at run time).

Re-implements, in numpy float64, librosa's documented formulas (librosa itself is
not installed here):
  librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, fmin=0, fmax=8000,
                      htk=False, norm='slaney')
  librosa.core.convert.hz_to_mel / mel_to_hz (Slaney scale)
and AudioLDM's TacotronSTFT log-mel (reflect pad n_fft/2, periodic Hann,
|rfft|, fb @ mag, log(clamp(., 1e-5))). The STFT is cross-checked against
torch.stft when torch is importable.

Writes (small, committed):
  tests/audio/mel_fb_slaney_16k_1024_64.txt  every non-zero filterbank weight + checksums
  tests/audio/logmel_ref_16k.txt             log-mel of a deterministic test signal (4003, 300, 17, 1 samples)

Usage: /usr/bin/python3 tools/mel_reference.py [repo_root]
"""
import math
import os
import sys

import numpy as np

SR, N_FFT, HOP, WIN, N_MELS, FMIN, FMAX, FLOOR = 16000, 1024, 160, 1024, 64, 0.0, 8000.0, 1e-5


def hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank():
    fftfreqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / SR)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(FMIN), hz_to_mel(FMAX), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((N_MELS, N_FFT // 2 + 1))
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS])
    return weights * enorm[:, None]


def test_signal(n):
    """Same formula as make_signal() in tests/test_mel.c, cast to float32."""
    t = np.arange(n, dtype=np.float64) / SR
    f0, f1, T = 200.0, 6000.0, 0.25
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * T)))
    s = 12345
    noise = np.empty(n)
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        noise[i] = (s >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0
    return (x + 0.05 * noise).astype(np.float32)


def stft_mag(x):
    x = np.asarray(x, dtype=np.float64)
    pad = np.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
    m = np.arange(WIN)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * m / WIN)  # periodic Hann
    frames = 1 + (len(pad) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    return np.abs(np.fft.rfft(pad[idx] * w[None, :], axis=1))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    out_dir = os.path.join(root, "tests", "audio")
    os.makedirs(out_dir, exist_ok=True)

    fb = mel_filterbank()
    n_bins = fb.shape[1]
    weights_idx = np.arange(fb.size).reshape(fb.shape) + 1
    nz = np.argwhere(fb > 0)
    with open(os.path.join(out_dir, "mel_fb_slaney_16k_1024_64.txt"), "w") as f:
        f.write("# librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, fmin=0, fmax=8000, htk=False, "
                "norm='slaney'), re-derived in numpy float64 by tools/mel_reference.py\n")
        f.write("shape %d %d\n" % fb.shape)
        f.write("nonzero %d\n" % len(nz))
        f.write("sum %.17g\n" % fb.sum())
        f.write("sumsq %.17g\n" % (fb * fb).sum())
        f.write("indexsum %.17g\n" % (fb * weights_idx).sum())
        for b, k in nz:
            f.write("%d %d %.10e\n" % (b, k, fb[b, k]))

    # Long enough for torch.stft, cross-checked; then short signals where the
    # reflect padding needs repeated reflections (numpy's np.pad, as librosa).
    cases = []
    for n in (4003, 300, 17, 1):
        x = test_signal(n)
        mag = stft_mag(x)
        if n > N_FFT // 2:
            try:
                import torch
                X = torch.stft(torch.from_numpy(x.astype(np.float64)), N_FFT, HOP, WIN,
                               window=torch.hann_window(WIN, periodic=True, dtype=torch.float64),
                               center=True, pad_mode="reflect", return_complex=True)
                err = np.abs(X.abs().numpy().T - mag).max()
                print("n=%d: numpy vs torch.stft max |diff| = %.3g" % (n, err))
                assert err < 1e-9 * max(1.0, mag.max()), err
            except ImportError:
                print("torch not available: STFT not cross-checked")
        logmel = np.log(np.maximum(mag @ fb.T, FLOOR))
        assert logmel.shape == (1 + n // HOP, N_MELS)
        cases.append((n, logmel))
    with open(os.path.join(out_dir, "logmel_ref_16k.txt"), "w") as f:
        f.write("# AudioLDM log-mel of make_signal(n) (tests/test_mel.c), numpy float64, "
                "tools/mel_reference.py\n")
        for n, logmel in cases:
            f.write("samples %d frames %d mels %d\n" % (n, logmel.shape[0], logmel.shape[1]))
            for row in logmel:
                f.write(" ".join("%.7e" % v for v in row) + "\n")
    logmel = cases[0][1]
    print("filterbank: %d non-zero weights, sum %.9g; log-mel %s, range [%.3f, %.3f]"
          % (len(nz), fb.sum(), logmel.shape, logmel.min(), logmel.max()))


if __name__ == "__main__":
    main()
