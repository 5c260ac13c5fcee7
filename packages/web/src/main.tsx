import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { isUnauthenticated, keys, shouldRetry } from './api';
import { createAppRouter } from './router';
import { StreamProvider } from './stream';
import { applyStoredTheme } from './theme';
import './styles.css';

applyStoredTheme();

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({
    // A session that ended (expired, signed out elsewhere) sends every page back to the login form.
    onError: (err, query) => {
      if (isUnauthenticated(err) && query.queryKey[0] !== keys.me[0])
        void queryClient.invalidateQueries({ queryKey: keys.me });
    },
  }),
  defaultOptions: {
    queries: { retry: shouldRetry, staleTime: 5_000, refetchOnWindowFocus: true },
  },
});

const router = createAppRouter(queryClient);

const root = document.getElementById('root');
if (root === null) throw new Error('no #root element');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <StreamProvider>
        <RouterProvider router={router} />
      </StreamProvider>
    </QueryClientProvider>
  </StrictMode>,
);
