import { Navigate, Route, Routes, useLocation } from 'react-router';
import { useSession } from './session';
import { Layout } from './layout';
import { PageLoader } from './components/states';
import { LoginPage } from './pages/login';
import { SearchPage } from './pages/search';
import { PaymentPage } from './pages/payment';
import { TenantsPage, TenantPage } from './pages/tenants';
import { DeliveriesPage, DeliveryPage } from './pages/webhooks';
import { RequestsPage } from './pages/requests';
import { HealthPage } from './pages/health';
import { AuditPage } from './pages/audit';

function RequireSession({ children }: { children: React.ReactElement }) {
  const { state } = useSession();
  const location = useLocation();
  if (state.status === 'loading') return <PageLoader />;
  if (state.status === 'signed_out') {
    const returnTo = `${location.pathname}${location.search}`;
    return <Navigate to={`/login?return_to=${encodeURIComponent(returnTo)}`} replace />;
  }
  return children;
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route element={<RequireSession><Layout /></RequireSession>}>
        <Route index element={<Navigate to="/search" replace />} />
        <Route path="/search" element={<SearchPage />} />
        <Route path="/payments/:id" element={<PaymentPage />} />
        <Route path="/tenants" element={<TenantsPage />} />
        <Route path="/tenants/:id" element={<TenantPage />} />
        <Route path="/webhooks" element={<DeliveriesPage />} />
        <Route path="/webhooks/deliveries/:id" element={<DeliveryPage />} />
        <Route path="/requests" element={<RequestsPage />} />
        <Route path="/health" element={<HealthPage />} />
        <Route path="/audit" element={<AuditPage />} />
        <Route path="*" element={<Navigate to="/search" replace />} />
      </Route>
    </Routes>
  );
}
