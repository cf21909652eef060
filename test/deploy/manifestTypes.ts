/**
 * Types for the two objects in deploy/ that are not Kubernetes API types, so the manifests test can check
 * them as strictly as the core objects (unknown fields are errors):
 *
 * - Kamaji's TenantControlPlane (kamaji.clastix.io/v1alpha1), the fields our examples use, with the JSON
 *   names and enums of Kamaji's Go types (api/v1alpha1/tenantcontrolplane_types.go); no npm package ships
 *   Kamaji's CRD schema;
 * - kube-apiserver's EgressSelectorConfiguration (apiserver.k8s.io/v1beta1, k8s.io/apiserver's
 *   pkg/apis/apiserver/v1beta1 types), a file kube-apiserver reads, not an API object.
 */
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IToleration } from 'kubernetes-models/v1/Toleration';

type KubeletPreferredAddressType = 'Hostname' | 'InternalIP' | 'ExternalIP' | 'InternalDNS' | 'ExternalDNS';

interface KonnectivityServerSpec {
  port: number;
  version?: string;
  image?: string;
  resources?: IResourceRequirements;
  extraArgs?: string[];
  securityContext?: ISecurityContext;
}

interface KonnectivityAgentSpec {
  image?: string;
  version?: string;
  tolerations?: IToleration[];
  extraArgs?: string[];
  hostNetwork?: boolean;
  mode?: 'DaemonSet' | 'Deployment';
  replicas?: number;
}

interface AddonSpec {
  imageRepository?: string;
  imageTag?: string;
}

export interface TenantControlPlane {
  apiVersion: 'kamaji.clastix.io/v1alpha1';
  kind: 'TenantControlPlane';
  metadata: IObjectMeta;
  spec: {
    dataStore?: string;
    controlPlane: {
      deployment?: { replicas?: number; resources?: Record<string, IResourceRequirements> };
      service: { serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer' };
    };
    kubernetes: {
      version: string;
      kubelet: {
        preferredAddressTypes?: KubeletPreferredAddressType[];
        cgroupfs?: 'systemd' | 'cgroupfs';
      };
      admissionControllers?: string[];
    };
    networkProfile?: {
      address?: string;
      advertiseAddress?: string;
      port?: number;
      certSANs?: string[];
      serviceCidr?: string;
      podCidr?: string;
      dnsServiceIPs?: string[];
      clusterDomain?: string;
    };
    addons?: {
      coreDNS?: AddonSpec;
      kubeProxy?: AddonSpec;
      konnectivity?: { server?: KonnectivityServerSpec; agent?: KonnectivityAgentSpec };
    };
  };
}

export interface EgressSelectorConfiguration {
  apiVersion: 'apiserver.k8s.io/v1beta1' | 'apiserver.k8s.io/v1';
  kind: 'EgressSelectorConfiguration';
  egressSelections: {
    name: 'cluster' | 'controlplane' | 'etcd';
    connection: {
      proxyProtocol: 'Direct' | 'HTTPConnect' | 'GRPC';
      transport?: {
        tcp?: { url: string; tlsConfig?: { caBundle?: string; clientKey?: string; clientCert?: string } };
        uds?: { udsName: string };
      };
    };
  }[];
}
