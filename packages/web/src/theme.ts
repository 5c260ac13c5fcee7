import { useCallback, useEffect, useState } from 'react';

export type ThemeChoice = 'light' | 'dark' | 'system';
const STORAGE_KEY = 'spyglass.theme';

function stored(): ThemeChoice {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

function resolve(choice: ThemeChoice): 'light' | 'dark' {
  if (choice !== 'system') return choice;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Sets `data-theme` on <html> before the first render, so the page never flashes the wrong colours. */
export function applyStoredTheme(): void {
  document.documentElement.dataset.theme = resolve(stored());
}

/** Light, dark or follow the system; remembered in this browser. */
export function useTheme(): { choice: ThemeChoice; theme: 'light' | 'dark'; setChoice: (c: ThemeChoice) => void } {
  const [choice, setChoiceState] = useState<ThemeChoice>(stored);
  const [theme, setTheme] = useState<'light' | 'dark'>(() => resolve(stored()));
  useEffect(() => {
    const apply = (): void => {
      const t = resolve(choice);
      setTheme(t);
      document.documentElement.dataset.theme = t;
    };
    apply();
    if (choice !== 'system') return;
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    mq.addEventListener('change', apply);
    return () => mq.removeEventListener('change', apply);
  }, [choice]);
  const setChoice = useCallback((c: ThemeChoice) => {
    try {
      if (c === 'system') localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, c);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
    setChoiceState(c);
  }, []);
  return { choice, theme, setChoice };
}
