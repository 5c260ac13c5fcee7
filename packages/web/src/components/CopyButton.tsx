import { useState } from 'react';

/** Copies text to the clipboard and says so. */
export function CopyButton({
  text,
  label = 'Copy',
  className = 'small',
}: {
  text: () => string;
  label?: string;
  className?: string;
}) {
  const [done, setDone] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = (): void => {
    const value = text();
    const fallback = (): boolean => {
      const area = document.createElement('textarea');
      area.value = value;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand('copy');
      area.remove();
      return ok;
    };
    const finish = (ok: boolean): void => {
      setDone(ok ? 'copied' : 'failed');
      setTimeout(() => setDone('idle'), 1500);
    };
    if (navigator.clipboard !== undefined && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(
        () => finish(true),
        () => finish(fallback()),
      );
    } else finish(fallback());
  };
  return (
    <button type="button" className={className} onClick={copy} aria-live="polite">
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed' : label}
    </button>
  );
}
